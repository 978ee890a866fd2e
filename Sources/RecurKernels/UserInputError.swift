// The line between "the user's input was wrong" and "the run failed": every error type that
// describes something a user gave (a flag, an experiment file, a data file, a checkpoint they
// pointed at) conforms, and the command line maps exactly these to exit status 2 with nothing
// written. I/O failures (`FileError`) and failures after a run started are not user input.

/// A marker for errors caused by what the user gave; their description says what, where and how
/// to fix it.
public protocol UserInputError: Error, CustomStringConvertible {}

/// A flag or argument that does not fit what it is used on (a model, a split, a sweep
/// directory); the description names the flag and the fix.
public struct UsageError: UserInputError {
    public var description: String
    public init(_ description: String) { self.description = description }
}
