#pragma once
/// @file
/// @brief Typed errors with context, and the always-on internal check.
///
/// The error policy of the whole program, stated once:
///  - Bad user input (a malformed file, an unknown key, a wrong shape, a missing dataset, a NaN in a
///    volume) is an `InputError`; a bad command line is a `UsageError`. Both exit with code 2.
///  - A failure of the system or of a library while doing valid work (a full disk, an MPI failure, a
///    diverging training run) is an `IoError`, `MpiError` or `NumericError`, exit code 1.
///  - A broken internal invariant is an `InternalError` (thrown by `ZNN_CHECK`), exit code 1.
///  - Every error carries where it happened: `file:line` for text inputs, `path:/dataset` for volumes,
///    and the MPI rank once the error is known to be local to one rank.
///  - Library modules only throw; only `app/` prints errors and terminates the process.
///
/// Under MPI an error has a scope. `ErrorScope::AllRanks` means every rank detects the same error in
/// the same place (a bad command line or configuration, parsed identically everywhere): rank 0 prints
/// it once and all ranks exit together. `ErrorScope::ThisRank` (the default, always safe) means the
/// error may be seen by this rank alone: it is printed with the rank and all ranks are aborted.
///
/// Example:
/// @code
///   throw InputError("unknown key 'lerning_rate' (did you mean 'learning_rate'?)")
///       .at_line("job.cfg", 12).scope(ErrorScope::AllRanks);
/// @endcode

#include <stdexcept>
#include <string>
#include <string_view>

namespace znn::core {

/// What kind of failure; decides the exit code (see exit_code()).
enum class ErrorKind { Usage, Input, Io, Mpi, Numeric, Internal };

/// Whether every rank sees the error (printed once by rank 0) or possibly only this one (abort all).
enum class ErrorScope { ThisRank, AllRanks };

/// @brief Base of all znn errors: a message plus context (where, rank, scope).
///
/// `what()` returns the full text: `where: message` (plus ` (rank N)` when a rank is attached).
class Error : public std::runtime_error {
public:
    Error(ErrorKind kind, std::string message);

    ErrorKind kind() const noexcept { return kind_; }
    ErrorScope error_scope() const noexcept { return scope_; }
    /// `file:line` or `path:/dataset` or empty.
    const std::string& where() const noexcept { return where_; }
    /// The message without context.
    const std::string& message() const noexcept { return message_; }
    /// MPI rank the error was raised on, or -1 when unknown or irrelevant.
    int rank() const noexcept { return rank_; }

    const char* what() const noexcept override { return full_.c_str(); }

    /// Process exit code for this error: 2 for usage/input errors, 1 for everything else.
    int exit_code() const noexcept;

    /// Sets the location to `file:line` (line 0 means the whole file).
    Error& at_line(std::string_view file, long line);
    /// Sets the location to `path:/dataset` (empty dataset means the whole file).
    Error& at_dataset(std::string_view path, std::string_view dataset);
    /// Sets the location verbatim (e.g. a command-line option name), unless one is already set.
    Error& at(std::string_view where);
    Error& on_rank(int rank);
    Error& scope(ErrorScope s);
    /// Prepends context to the message: "context: message".
    Error& prefix(std::string_view context);

private:
    void rebuild();

    ErrorKind kind_;
    ErrorScope scope_ = ErrorScope::ThisRank;
    std::string message_;
    std::string where_;
    int rank_ = -1;
    std::string full_;
};

/// @brief Typed error: the context setters return the derived type, so
/// `throw InputError("...").at_line(f, l)` throws an InputError, not a sliced Error.
template <class Derived, ErrorKind Kind> class TypedError : public Error {
public:
    explicit TypedError(std::string message) : Error(Kind, std::move(message)) {}
    Derived& at_line(std::string_view file, long line)
    {
        Error::at_line(file, line);
        return self();
    }
    Derived& at_dataset(std::string_view path, std::string_view dataset)
    {
        Error::at_dataset(path, dataset);
        return self();
    }
    Derived& at(std::string_view where)
    {
        Error::at(where);
        return self();
    }
    Derived& on_rank(int rank)
    {
        Error::on_rank(rank);
        return self();
    }
    Derived& scope(ErrorScope s)
    {
        Error::scope(s);
        return self();
    }
    Derived& prefix(std::string_view context)
    {
        Error::prefix(context);
        return self();
    }

private:
    Derived& self() { return static_cast<Derived&>(*this); }
};

/// Bad command line: unknown option, missing argument, conflicting flags. Exit code 2.
class UsageError : public TypedError<UsageError, ErrorKind::Usage> {
public:
    using TypedError::TypedError;
};

/// Bad input data or files: malformed text, unknown key, wrong shape, missing file or dataset,
/// unreadable or corrupt volume, NaN. Exit code 2.
class InputError : public TypedError<InputError, ErrorKind::Input> {
public:
    using TypedError::TypedError;
};

/// A system failure while reading or writing valid data (disk full, permission lost). Exit code 1.
class IoError : public TypedError<IoError, ErrorKind::Io> {
public:
    using TypedError::TypedError;
};

/// An MPI call failed. Exit code 1.
class MpiError : public TypedError<MpiError, ErrorKind::Mpi> {
public:
    using TypedError::TypedError;
};

/// A computation produced NaN/Inf or diverged. Exit code 1.
class NumericError : public TypedError<NumericError, ErrorKind::Numeric> {
public:
    using TypedError::TypedError;
};

/// A broken internal invariant (a bug in znn). Exit code 1.
class InternalError : public TypedError<InternalError, ErrorKind::Internal> {
public:
    using TypedError::TypedError;
};

/// Returns a short lowercase name of the kind ("input error", "I/O error", ...).
std::string_view to_string(ErrorKind kind) noexcept;

/// Throws the typed error of `kind` (UsageError for Usage, ...) with the given message and context.
[[noreturn]] void throw_error(ErrorKind kind, const std::string& message, const std::string& where, ErrorScope scope);

namespace detail {
[[noreturn]] void throw_check_failure(const char* condition, const char* file, int line, std::string_view message);
}  // namespace detail

}  // namespace znn::core

/// Always-on check of an internal invariant. Never use it for user input: throw InputError instead.
#define ZNN_CHECK(cond, message)                                                                     \
    do {                                                                                             \
        if (!(cond)) ::znn::core::detail::throw_check_failure(#cond, __FILE__, __LINE__, (message)); \
    } while (0)

/// Debug-only check for hot loops; compiled out in Release builds.
#ifdef NDEBUG
#define ZNN_ASSERT(cond) ((void)0)
#else
#define ZNN_ASSERT(cond) ZNN_CHECK(cond, "assertion failed")
#endif
