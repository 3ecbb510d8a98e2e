#include "znn/io/atomic_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
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

int remove_stale_temporaries(const std::string& prefix_path)
{
    const fs::path prefix(prefix_path);
    const std::string start = "." + prefix.filename().string();
    std::error_code ec;
    int removed = 0;
    for (const auto& entry : fs::directory_iterator(directory_of(prefix_path), ec)) {
        const std::string name = entry.path().filename().string();
        const auto tmp = name.rfind(".tmp-");
        if (name.rfind(start, 0) != 0 || tmp == std::string::npos) continue;
        const long pid = std::strtol(name.c_str() + tmp + 5, nullptr, 10);
        if (pid <= 0 || (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)) {
            if (fs::remove(entry.path(), ec)) ++removed;
        }
    }
    return removed;
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
        temp_path_ = (target.parent_path() / ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()) +
                                              "-" + std::to_string(g_temp_counter.fetch_add(1))))
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

}  // namespace znn::io
