// CMPI shim: Open MPI's C interface for Swift. MPI_COMM_WORLD, MPI_FLOAT and friends are
// macros over addresses of globals that Swift cannot import, so they are re-exposed here
// as inline functions. Nothing else lives here; RecurParallel wraps it.
#pragma once
#include <mpi.h>

static inline MPI_Comm recur_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype recur_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype recur_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype recur_mpi_uint64(void) { return MPI_UINT64_T; }
static inline MPI_Datatype recur_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Info recur_mpi_info_null(void) { return MPI_INFO_NULL; }
static inline MPI_Errhandler recur_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline int recur_mpi_comm_type_shared(void) { return MPI_COMM_TYPE_SHARED; }
static inline int recur_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline int recur_mpi_success(void) { return MPI_SUCCESS; }
static inline MPI_Status *recur_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Status *recur_mpi_statuses_ignore(void) { return MPI_STATUSES_IGNORE; }
