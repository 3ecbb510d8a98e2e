#pragma once
/// @file
/// @brief mpi_type<T>(): the MPI datatype of a C++ element type.

#include <mpi.h>

#include <cstdint>

namespace znn::dist {

template <class T> MPI_Datatype mpi_type();
template <> inline MPI_Datatype mpi_type<char>()
{
    return MPI_CHAR;
}
template <> inline MPI_Datatype mpi_type<std::int8_t>()
{
    return MPI_INT8_T;
}
template <> inline MPI_Datatype mpi_type<std::uint8_t>()
{
    return MPI_UINT8_T;
}
template <> inline MPI_Datatype mpi_type<std::int16_t>()
{
    return MPI_INT16_T;
}
template <> inline MPI_Datatype mpi_type<std::uint16_t>()
{
    return MPI_UINT16_T;
}
template <> inline MPI_Datatype mpi_type<std::int32_t>()
{
    return MPI_INT32_T;
}
template <> inline MPI_Datatype mpi_type<std::uint32_t>()
{
    return MPI_UINT32_T;
}
template <> inline MPI_Datatype mpi_type<std::int64_t>()
{
    return MPI_INT64_T;
}
template <> inline MPI_Datatype mpi_type<std::uint64_t>()
{
    return MPI_UINT64_T;
}
template <> inline MPI_Datatype mpi_type<float>()
{
    return MPI_FLOAT;
}
template <> inline MPI_Datatype mpi_type<double>()
{
    return MPI_DOUBLE;
}

}  // namespace znn::dist
