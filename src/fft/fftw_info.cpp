#include "znn/fft/fftw_info.hpp"

#include <fftw3.h>

namespace znn::fft {

std::string fftw_version()
{
    return fftwf_version;
}

}  // namespace znn::fft
