#pragma once
// A fresh directory for one test, removed afterwards. With a Comm, rank 0 creates it and every rank
// gets the same path (the ranks of a test share one filesystem).

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <vector>
#include <filesystem>
#include <string>

#include "znn/dist/comm.hpp"

namespace znn::test {

class TempDir {
public:
    explicit TempDir(const dist::Comm& comm = dist::Comm::serial()) : comm_(comm)
    {
        if (comm_.is_root()) {
            const char* base = std::getenv("TMPDIR");
            std::string pattern = std::string(base && *base ? base : "/tmp") + "/znn-test-XXXXXX";
            if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
            path_ = pattern;
        }
        comm_.broadcast(path_);
    }
    ~TempDir()
    {
        comm_.barrier();
        if (comm_.is_root()) {
            std::error_code ec;
            std::filesystem::remove_all(path_, ec);
        }
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    dist::Comm comm_;
    std::string path_;
};

/// Names of the entries of a directory (sorted), to check that nothing half-written is left behind.
inline std::vector<std::string> list_dir(const std::string& dir)
{
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace znn::test
