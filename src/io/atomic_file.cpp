#include "znn/io/atomic_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "znn/core/error.hpp"
#include "znn/dist/agree.hpp"

namespace znn::io {
namespace {

namespace fs = std::filesystem;

std::string directory_of(const std::string& path)
{
    const fs::path parent = fs::path(path).parent_path();
    return parent.empty() ? std::string(".") : parent.string();
}

void fsync_path(const std::string& path, int flags)
{
    const int fd = ::open(path.c_str(), flags);
    if (fd < 0) return;
    ::fsync(fd);  // best effort: some shared filesystems do not support fsync on directories
    ::close(fd);
}

std::atomic<unsigned> g_temp_counter{0};

}  // namespace

void check_writable_location(const std::string& path)
{
    const std::string dir = directory_of(path);
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        throw core::InputError("cannot write here: directory '" + dir + "' does not exist").at(path);
    if (::access(dir.c_str(), W_OK | X_OK) != 0)
        throw core::InputError("cannot write here: directory '" + dir + "' is not writable (" + std::strerror(errno) +
                               ")")
            .at(path);
    if (fs::is_directory(path, ec)) throw core::InputError("cannot write here: it is a directory").at(path);
    const fs::file_status st = fs::status(path, ec);
    if (fs::exists(st) && !fs::is_regular_file(st))
        throw core::InputError("cannot write here: it exists and is not a regular file (a device, FIFO or socket)").at(path);
}

void check_creatable_location(const std::string& path)
{
    std::error_code ec;
    if (fs::is_directory(path, ec)) throw core::InputError("cannot write here: it is a directory").at(path);
    fs::path dir = fs::absolute(fs::path(directory_of(path)), ec);
    while (!fs::exists(dir, ec)) {
        if (!dir.has_parent_path() || dir.parent_path() == dir) break;
        dir = dir.parent_path();
    }
    if (!fs::is_directory(dir, ec))
        throw core::InputError("cannot write here: '" + dir.string() + "' is not a directory").at(path);
    if (::access(dir.c_str(), W_OK | X_OK) != 0)
        throw core::InputError("cannot write here: directory '" + dir.string() + "' is not writable (" + std::strerror(errno) + ")")
            .at(path);
}

void publish_copy(const std::string& from, const std::string& to)
{
    const fs::path target(to);
    const std::string temp =
        (target.parent_path() / ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(g_temp_counter.fetch_add(1))))
            .string();
    if (::link(from.c_str(), temp.c_str()) != 0) {
        std::error_code ec;
        fs::copy_file(from, temp, fs::copy_options::overwrite_existing, ec);
        if (ec) {
            std::remove(temp.c_str());
            throw core::IoError("cannot copy " + from + " into place: " + ec.message()).at(to);
        }
        fsync_path(temp, O_RDONLY);
    }
    if (std::rename(temp.c_str(), to.c_str()) != 0) {
        const std::string why = std::strerror(errno);
        std::remove(temp.c_str());
        throw core::IoError("cannot rename " + temp + " into place: " + why).at(to);
    }
    fsync_path(directory_of(to), O_RDONLY | O_DIRECTORY);
}

namespace {

std::string host_name()
{
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0) return "host";
    std::string h(name);
    for (char& c : h)
        if (c == '/' || c == '.') c = '_';
    return h.empty() ? "host" : h;
}

/// Whether the temporary file named `.<target>.tmp-<tail>` was left by a writer that no longer runs:
/// `<tail>` is `<host>-<pid>-<n>` (a writer on another host is never judged; it may be alive), or
/// `<pid>-<n>` as earlier versions wrote it.
bool is_stale(const std::string& tail)
{
    const auto last = tail.rfind('-');
    if (last == std::string::npos || last == 0) return false;
    const auto before = tail.rfind('-', last - 1);
    const std::string pid_text = before == std::string::npos ? tail.substr(0, last) : tail.substr(before + 1, last - before - 1);
    if (before != std::string::npos && tail.substr(0, before) != host_name()) return false;
    char* end = nullptr;
    const long pid = std::strtol(pid_text.c_str(), &end, 10);
    if (end == pid_text.c_str() || *end != '\0' || pid <= 0) return false;
    return ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

/// Removes the stale temporaries in `directory` whose name is `.<file>.tmp-...` for a `file` that
/// starts with `start` (or equals it, when `exact`).
int remove_stale(const std::string& directory, const std::string& start, bool exact)
{
    std::error_code ec;
    int removed = 0;
    for (const auto& entry : fs::directory_iterator(directory, ec)) {
        const std::string name = entry.path().filename().string();
        const auto tmp = name.rfind(".tmp-");
        if (tmp == std::string::npos || name.rfind("." + start, 0) != 0) continue;
        if (exact && tmp != start.size() + 1) continue;
        if (is_stale(name.substr(tmp + 5)) && fs::remove(entry.path(), ec)) ++removed;
    }
    return removed;
}

}  // namespace

int remove_stale_temporaries(const std::string& prefix_path)
{
    return remove_stale(directory_of(prefix_path), fs::path(prefix_path).filename().string(), false);
}

void create_parent_directories(const std::string& path)
{
    const std::string dir = directory_of(path);
    std::error_code ec;
    if (fs::is_directory(dir, ec)) return;
    fs::create_directories(dir, ec);
    if (ec || !fs::is_directory(dir)) throw core::IoError("cannot create the directory '" + dir + "': " + ec.message()).at(path);
}

AtomicFile::AtomicFile(std::string final_path, const dist::Comm& comm) : final_path_(std::move(final_path)), comm_(comm)
{
    // Rank 0 checks and names the temporary file; all ranks fail or proceed together.
    dist::root_decides(comm_, [&] {
        check_writable_location(final_path_);
        const fs::path target(final_path_);
        remove_stale(directory_of(final_path_), target.filename().string(), true);  // of writes killed before
        temp_path_ = (target.parent_path() / ("." + target.filename().string() + ".tmp-" + host_name() + "-" +
                                              std::to_string(::getpid()) + "-" + std::to_string(g_temp_counter.fetch_add(1))))
                         .string();
    });
    comm_.broadcast(temp_path_);
}

AtomicFile::~AtomicFile()
{
    if (!committed_ && comm_.is_root()) std::remove(temp_path_.c_str());
}

void AtomicFile::write_bytes(std::span<const unsigned char> bytes)
{
    const int fd = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw core::IoError(std::string("cannot create the temporary file: ") + std::strerror(errno)).at(final_path_);
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const std::string why = n < 0 ? std::strerror(errno) : "nothing written";
            ::close(fd);
            throw core::IoError("cannot write " + std::to_string(bytes.size()) + " bytes (" + std::to_string(done) + " written): " + why)
                .at(final_path_);
        }
        done += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0) throw core::IoError(std::string("cannot close the temporary file: ") + std::strerror(errno)).at(final_path_);
}

void AtomicFile::commit()
{
    comm_.barrier();  // every rank has closed the temporary file
    std::string error;
    if (comm_.is_root()) {
        fsync_path(temp_path_, O_RDONLY);
        if (std::rename(temp_path_.c_str(), final_path_.c_str()) != 0)
            error = "cannot rename the temporary file " + temp_path_ + " into place: " + std::strerror(errno);
        else
            fsync_path(directory_of(final_path_), O_RDONLY | O_DIRECTORY);
    }
    comm_.broadcast(error);
    if (!error.empty()) throw core::IoError(error).at(final_path_);
    committed_ = true;
}

bool AtomicFile::commit_if_absent()
{
    comm_.barrier();  // every rank has closed the temporary file
    std::string error;
    int created = 0;
    if (comm_.is_root()) {
        fsync_path(temp_path_, O_RDONLY);
        if (::link(temp_path_.c_str(), final_path_.c_str()) == 0) {
            created = 1;
            fsync_path(directory_of(final_path_), O_RDONLY | O_DIRECTORY);
        } else if (errno != EEXIST) {
            error = "cannot link the temporary file " + temp_path_ + " into place: " + std::strerror(errno);
        }
        std::remove(temp_path_.c_str());
    }
    comm_.broadcast(error);
    if (!error.empty()) throw core::IoError(error).at(final_path_);
    committed_ = true;  // the temporary file is gone either way
    return comm_.broadcast_value(created) != 0;
}

}  // namespace znn::io
