#include "znn/app/cli.hpp"

int main(int argc, char** argv)
{
    return znn::app::run(argc, argv);
}
