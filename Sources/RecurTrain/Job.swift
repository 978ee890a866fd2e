// This process's place in a job: the communicator chosen at start (MPI under mpirun or srun, a
// world of one otherwise) and its normal or abnormal end. Programs on top of RecurTrain hold a
// Job instead of a communicator, so none of them branches on the kind of communicator.

import RecurParallel

public final class Job {
    let communicator: Communicator
    /// This process's rank, 0 ..< size.
    public var rank: Int { communicator.rank }
    /// Processes in the job.
    public var size: Int { communicator.size }
    /// Whether this process prints and writes for the job (rank 0).
    public var isRoot: Bool { communicator.rank == 0 }

    /// The job this process was started in: MPI when launched by mpirun, else a world of one.
    public init() { communicator = makeCommunicator() }

    /// A job over a given communicator (tests run ranks on threads with `InProcessCommunicator`).
    init(communicator: Communicator) { self.communicator = communicator }

    /// Ends this process's part at the normal end (MPI_Finalize under MPI).
    public func finish() { communicator.finalize() }

    /// Ends the whole job at once with `code` (every rank, under MPI); never returns.
    public func abort(code: Int32) -> Never { communicator.abort(code: code) }
}
