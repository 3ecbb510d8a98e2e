#include <gtest/gtest.h>

#include "znn/core/error.hpp"

using namespace znn::core;

TEST(Error, CarriesLocationRankAndExitCode)
{
    try {
        throw InputError("unknown key 'lerning_rate'").at_line("job.cfg", 12);
    } catch (const InputError& e) {  // the typed error survives the chained setters
        EXPECT_STREQ(e.what(), "job.cfg:12: unknown key 'lerning_rate'");
        EXPECT_EQ(e.exit_code(), 2);
        EXPECT_EQ(e.kind(), ErrorKind::Input);
        EXPECT_EQ(e.error_scope(), ErrorScope::ThisRank);
    }
    const IoError io = IoError("disk full").at_dataset("out.h5", "main").on_rank(3);
    EXPECT_STREQ(io.what(), "out.h5:/main: disk full (rank 3)");
    EXPECT_EQ(io.exit_code(), 1);
    EXPECT_EQ(UsageError("x").exit_code(), 2);
    EXPECT_EQ(MpiError("x").exit_code(), 1);
    EXPECT_EQ(NumericError("x").exit_code(), 1);
    EXPECT_EQ(InternalError("x").exit_code(), 1);
}

TEST(Error, AtDoesNotOverrideAnExistingLocationButPrefixAddsContext)
{
    InputError e = InputError("bad value").at_line("a.znn", 3);
    e.at("--size");
    EXPECT_EQ(e.where(), "a.znn:3");
    e.prefix("edge conv1");
    EXPECT_STREQ(e.what(), "a.znn:3: edge conv1: bad value");
    EXPECT_EQ(InputError("m").at_line("f.spec", 0).where(), "f.spec");
}

TEST(Error, ThrowErrorRebuildsTheTypedError)
{
    EXPECT_THROW(throw_error(ErrorKind::Input, "m", "w", ErrorScope::AllRanks), InputError);
    EXPECT_THROW(throw_error(ErrorKind::Usage, "m", "w", ErrorScope::AllRanks), UsageError);
    EXPECT_THROW(throw_error(ErrorKind::Io, "m", "w", ErrorScope::AllRanks), IoError);
    EXPECT_THROW(throw_error(ErrorKind::Mpi, "m", "w", ErrorScope::AllRanks), MpiError);
    EXPECT_THROW(throw_error(ErrorKind::Numeric, "m", "w", ErrorScope::AllRanks), NumericError);
    EXPECT_THROW(throw_error(ErrorKind::Internal, "m", "w", ErrorScope::AllRanks), InternalError);
    try {
        throw_error(ErrorKind::Input, "no such dataset", "a.h5:/raw", ErrorScope::AllRanks);
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "a.h5:/raw: no such dataset");
        EXPECT_EQ(e.error_scope(), ErrorScope::AllRanks);
    }
}

TEST(Error, CheckThrowsInternalErrorWithSourceLocation)
{
    try {
        ZNN_CHECK(1 + 1 == 3, "arithmetic");
        FAIL() << "ZNN_CHECK did not throw";
    } catch (const InternalError& e) {
        EXPECT_NE(e.where().find("test_error.cpp:"), std::string::npos);
        EXPECT_NE(e.message().find("arithmetic"), std::string::npos);
        EXPECT_NE(e.message().find("1 + 1 == 3"), std::string::npos);
    }
    EXPECT_NO_THROW(ZNN_CHECK(true, "never"));
}
