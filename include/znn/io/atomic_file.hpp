#pragma once
/// @file
/// @brief Atomic file output: write a temporary file, then rename it over the target.
///
/// Readers (and a job restarted after a kill) see either the old file or the complete new one, never
/// a half-written one. The temporary file lives in the target's directory (rename is only atomic
/// within one filesystem) and is named `.<name>.tmp-<host>-<pid>-<n>`; if the writer fails or is
/// destroyed before commit(), the temporary file is removed. A write killed before it could (kill -9,
/// a node lost) leaves its temporary file behind: the next AtomicFile of the same name removes it
/// when its writer no longer runs on this host.
///
/// Under MPI, every rank of `comm` writes into the same temporary file (parallel HDF5); rank 0 picks
/// its name and performs the rename after all ranks have closed the file.

#include <span>
#include <string>

#include "znn/dist/comm.hpp"

namespace znn::io {

/// @brief One pending atomic write of `final_path`.
class AtomicFile {
public:
    /// Checks that the target's directory exists and is writable (InputError otherwise) and picks the
    /// temporary path. Collective over comm.
    explicit AtomicFile(std::string final_path, const dist::Comm& comm = dist::Comm::serial());
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    const std::string& final_path() const noexcept { return final_path_; }
    /// Where to write; identical on every rank.
    const std::string& temp_path() const noexcept { return temp_path_; }

    /// Writes `bytes` as the temporary file's whole content (rank 0 only under MPI). IoError naming
    /// the final path, with the system's reason, when the data cannot all be written.
    void write_bytes(std::span<const unsigned char> bytes);

    /// Flushes the temporary file to stable storage and renames it to the final path. The file must be
    /// closed on every rank before. Collective over comm. Throws IoError if the rename fails.
    void commit();

    /// As commit(), but never replaces a file already at the final path: the temporary file is hard
    /// linked there (which fails when the name exists, on every POSIX filesystem including NFS and
    /// Lustre) and then removed. Returns false, leaving the existing file, when another writer came
    /// first (concurrent jobs creating the same file). Collective; the result is the same on every rank.
    bool commit_if_absent();

private:
    std::string final_path_;
    std::string temp_path_;
    dist::Comm comm_;
    bool committed_ = false;
};

/// Throws InputError naming `path` if a file cannot be created there (missing or read-only directory).
void check_writable_location(const std::string& path);

/// Throws InputError naming `path` unless a file can be created there once its missing parent
/// directories are made: the nearest existing ancestor must be a writable directory, and nothing
/// on the way may be a file. Creates nothing.
void check_creatable_location(const std::string& path);

/// Makes `to` a complete copy of the complete file `from`, atomically: a hard link when the filesystem
/// has them (no bytes copied), else a copy; either is made under a temporary name and renamed over
/// `to`. IoError naming `to` on failure; `to` is then unchanged.
void publish_copy(const std::string& from, const std::string& to);

/// Removes the temporary files that AtomicFile writes of `final_path`-like names were killed in:
/// `.<name>.tmp-<host>-<pid>-<n>` in the directory of `prefix_path` whose name starts with the file
/// name of `prefix_path`, written on this host by a process that no longer runs (a writer on another
/// host may still run, and is left alone). Returns how many it removed.
int remove_stale_temporaries(const std::string& prefix_path);

/// Creates the missing parent directories of `path` (as `mkdir -p`); IoError naming the directory
/// that could not be made.
void create_parent_directories(const std::string& path);

}  // namespace znn::io
