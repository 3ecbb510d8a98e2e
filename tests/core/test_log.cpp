#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "znn/core/log.hpp"

using namespace znn::core;

namespace {
struct Captured {
    std::vector<std::string> lines;
    Logger::Sink sink()
    {
        return [this](std::string_view l) { lines.emplace_back(l); };
    }
};
}  // namespace

TEST(Logger, FiltersByLevelAndFormatsLines)
{
    Captured out;
    Logger log(0, {LogLevel::Info, false, false, {}}, out.sink());
    log.debug("hidden");
    log.info("conv3: fft ", 4.1, " ms");
    log.warn("slow");
    log.error("bad");
    ASSERT_EQ(out.lines.size(), 3u);
    EXPECT_EQ(out.lines[0], "conv3: fft 4.1 ms");
    EXPECT_EQ(out.lines[1], "warning: slow");
    EXPECT_EQ(out.lines[2], "error: bad");
    EXPECT_FALSE(log.enabled(LogLevel::Debug));
}

TEST(Logger, OnlyRankZeroPrintsUnlessAllRanks)
{
    Captured out;
    Logger quiet(1, {LogLevel::Trace, false, false, {}}, out.sink());
    quiet.info("not printed");
    EXPECT_TRUE(out.lines.empty());
    Logger loud(1, {LogLevel::Trace, true, false, {}}, out.sink());
    loud.info("printed");
    loud.trace("detail");
    ASSERT_EQ(out.lines.size(), 2u);
    EXPECT_EQ(out.lines[0], "[r1] printed");
    EXPECT_EQ(out.lines[1], "[r1] trace: detail");
}

TEST(Logger, TimestampsAndWholeLinesFromManyThreads)
{
    Captured out;
    Logger log(0, {LogLevel::Info, false, true, {}}, out.sink());
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&log, t] {
            for (int i = 0; i < 100; ++i)
                log.info("thread ", t, " line ", i);
        });
    for (auto& th : threads)
        th.join();
    ASSERT_EQ(out.lines.size(), 400u);
    for (const auto& l : out.lines) {
        ASSERT_EQ(l.size() > 11 && l[0] == '[' && l[9] == ']', true) << l;  // "[HH:MM:SS] "
        EXPECT_NE(l.find("thread "), std::string::npos);
    }
    EXPECT_FALSE(Logger::silent().enabled(LogLevel::Error));
}

TEST(Logger, TagComesAfterTheTimeAndBeforeTheRank)
{
    Captured out;
    Logger log(1, {LogLevel::Info, true, true, "restart 2"}, out.sink());
    log.info("x");
    Logger untimed(0, {LogLevel::Info, false, false, "restart 0"}, out.sink());
    untimed.warn("y");
    ASSERT_EQ(out.lines.size(), 2u);
    EXPECT_EQ(out.lines[0].substr(0, 1), "[");
    EXPECT_EQ(out.lines[0].substr(9), " restart 2 r1] x") << out.lines[0];
    EXPECT_EQ(out.lines[1], "[restart 0] warning: y");
}

TEST(Logger, ParsesLevelNames)
{
    EXPECT_EQ(parse_log_level("debug"), LogLevel::Debug);
    EXPECT_EQ(parse_log_level("warning"), LogLevel::Warn);
    EXPECT_FALSE(parse_log_level("verbose"));
}
