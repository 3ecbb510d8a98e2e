#include "znn/core/stop_signals.hpp"

#include <csignal>

#include "znn/core/error.hpp"

namespace znn::core {
namespace {

std::atomic<int> g_stop_signal{0};
std::atomic<bool> g_installed{false};
constexpr int kSignals[] = {SIGTERM, SIGUSR1, SIGINT};
struct sigaction g_previous[3];

extern "C" void on_stop_signal(int signal)
{
    int expected = 0;
    if (g_stop_signal.compare_exchange_strong(expected, signal)) return;
    if (signal == SIGINT) {  // the second Ctrl-C: quit now
        std::signal(SIGINT, SIG_DFL);
        std::raise(SIGINT);
    }
}

}  // namespace

StopSignals::StopSignals()
{
    ZNN_CHECK(!g_installed.exchange(true), "StopSignals: only one may exist");
    static_assert(std::atomic<int>::is_always_lock_free, "the stop flag must be usable from a signal handler");
    g_stop_signal = 0;
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;  // blocking calls (file I/O, MPI's waits) go on
    for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &action, &g_previous[i]);
}

StopSignals::~StopSignals()
{
    for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &g_previous[i], nullptr);
    g_installed = false;
}

const std::atomic<int>& StopSignals::flag() const noexcept { return g_stop_signal; }

}  // namespace znn::core
