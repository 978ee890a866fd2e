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

/// User data quoted in a message, made safe to print: control characters (a NUL, an escape
/// sequence) written as `\u{…}`, and anything past `limit` characters cut with a count of what
/// was left out, so a 100 kB cell or a header of 5,000 columns does not flood the terminal.
public func quotedForMessage(_ text: String, limit: Int = 200) -> String {
    var out = ""
    var count = 0
    for u in text.unicodeScalars {
        if count >= limit { break }
        if u.value < 0x20 || u.value == 0x7F {
            out += "\\u{" + String(u.value, radix: 16) + "}"
        } else {
            out.unicodeScalars.append(u)
        }
        count += 1
    }
    let total = text.unicodeScalars.count
    return total > limit ? out + "… (\(total - limit) more characters)" : out
}
