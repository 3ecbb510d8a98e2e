#pragma once
// Shared by the libFuzzer targets (tests/fuzz/README.md): what counts as a finding, and temporary files
// for readers that take a path.
//
// A reader may reject its input only with core::Error (the clean errors users see, exit code 2). A
// crash, a sanitizer report, an internal error ("this is a bug in znn") or any other exception is a
// finding: the target aborts, and libFuzzer saves the input.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include "znn/core/error.hpp"

namespace znn::fuzz {

/// Runs `f`, accepting core::Error except internal errors; anything else aborts.
template <class F> void expect_clean(F&& f)
{
    try {
        f();
    } catch (const core::InternalError& e) {
        std::fprintf(stderr, "internal error on fuzzed input: %s\n", e.what());
        std::abort();
    } catch (const core::Error&) {
        // a clean rejection
    }
}

/// The fuzzer's bytes as a file (per process, rewritten for every input), for readers of paths.
class TempFile {
public:
    explicit TempFile(std::string_view suffix)
        : path_((std::getenv("TMPDIR") ? std::string(std::getenv("TMPDIR")) : std::string("/tmp")) + "/znn-fuzz-" +
                std::to_string(::getpid()) + std::string(suffix))
    {
    }
    ~TempFile() { std::remove(path_.c_str()); }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;

    const std::string& write(const std::uint8_t* data, std::size_t size)
    {
        std::FILE* f = std::fopen(path_.c_str(), "wb");
        if (!f) std::abort();
        if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
        std::fclose(f);
        return path_;
    }

private:
    std::string path_;
};

/// Text of at most `limit` bytes (readers of text files refuse larger ones before reading).
inline std::string_view as_text(const std::uint8_t* data, std::size_t size)
{
    return {reinterpret_cast<const char*>(data), size};
}

}  // namespace znn::fuzz
