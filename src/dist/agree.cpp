#include "znn/dist/agree.hpp"

namespace znn::dist {

void root_decides(const Comm& comm, const std::function<void()>& check)
{
    int kind = -1;  // -1: the check passed
    std::string message;
    std::string where;
    if (comm.is_root()) {
        try {
            check();
        } catch (const core::Error& e) {
            kind = static_cast<int>(e.kind());
            message = e.message();
            where = e.where();
        }
    }
    kind = comm.broadcast_value(kind);
    if (kind < 0) return;
    comm.broadcast(message);
    comm.broadcast(where);
    core::throw_error(static_cast<core::ErrorKind>(kind), message, where, core::ErrorScope::AllRanks);
}

}  // namespace znn::dist
