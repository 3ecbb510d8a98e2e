#pragma once
// A .znn network from text, for tests: parse errors fail the test at once.

#include <gtest/gtest.h>

#include <string>

#include "znn/config/net_spec.hpp"

namespace znn::test {

inline config::NetSpec parse_net(const std::string& text)
{
    config::Diagnostics d;
    config::NetSpec net = config::NetSpec::parse(text, "t.znn", d);
    EXPECT_FALSE(d.has_errors()) << d.errors()[0].where << ": " << d.errors()[0].message;
    return net;
}

}  // namespace znn::test
