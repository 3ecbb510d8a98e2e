#include "znn/core/error.hpp"

#include <string>

namespace znn::core {

Error::Error(ErrorKind kind, std::string message)
    : std::runtime_error(message), kind_(kind), message_(std::move(message))
{
    rebuild();
}

int Error::exit_code() const noexcept
{
    return (kind_ == ErrorKind::Usage || kind_ == ErrorKind::Input) ? 2 : 1;
}

Error& Error::at_line(std::string_view file, long line)
{
    where_ = std::string(file);
    if (line > 0) where_.append(":").append(std::to_string(line));
    rebuild();
    return *this;
}

Error& Error::at_dataset(std::string_view path, std::string_view dataset)
{
    where_ = std::string(path);
    if (!dataset.empty()) {
        where_.append(dataset.front() == '/' ? ":" : ":/").append(dataset);
    }
    rebuild();
    return *this;
}

Error& Error::at(std::string_view where)
{
    if (where_.empty()) {
        where_ = std::string(where);
        rebuild();
    }
    return *this;
}

Error& Error::on_rank(int rank)
{
    rank_ = rank;
    rebuild();
    return *this;
}

Error& Error::scope(ErrorScope s)
{
    scope_ = s;
    return *this;
}

Error& Error::prefix(std::string_view context)
{
    message_.insert(0, std::string(context).append(": "));
    rebuild();
    return *this;
}

void Error::rebuild()
{
    full_.clear();
    if (!where_.empty()) full_.append(where_).append(": ");
    full_.append(message_);
    if (rank_ >= 0) full_.append(" (rank ").append(std::to_string(rank_)).append(")");
}

std::string_view to_string(ErrorKind kind) noexcept
{
    switch (kind) {
        case ErrorKind::Usage: return "usage error";
        case ErrorKind::Input: return "input error";
        case ErrorKind::Io: return "I/O error";
        case ErrorKind::Mpi: return "MPI error";
        case ErrorKind::Numeric: return "numeric error";
        case ErrorKind::Internal: return "internal error";
    }
    return "error";
}

namespace {

template <class E> [[noreturn]] void throw_typed(const std::string& message, const std::string& where, ErrorScope scope)
{
    E e(message);
    e.at(where).scope(scope);
    throw e;
}

}  // namespace

void throw_error(ErrorKind kind, const std::string& message, const std::string& where, ErrorScope scope)
{
    switch (kind) {
        case ErrorKind::Usage: throw_typed<UsageError>(message, where, scope);
        case ErrorKind::Input: throw_typed<InputError>(message, where, scope);
        case ErrorKind::Io: throw_typed<IoError>(message, where, scope);
        case ErrorKind::Mpi: throw_typed<MpiError>(message, where, scope);
        case ErrorKind::Numeric: throw_typed<NumericError>(message, where, scope);
        case ErrorKind::Internal: break;
    }
    throw_typed<InternalError>(message, where, scope);
}

namespace detail {

void throw_check_failure(const char* condition, const char* file, int line, std::string_view message)
{
    throw InternalError(std::string(message) + " [check '" + condition + "' failed; this is a bug in znn]")
        .at_line(file, line);
}

}  // namespace detail
}  // namespace znn::core
