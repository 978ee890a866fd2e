// The one error every RecurData reader throws: what is wrong, where (file, line, column,
// byte offset) and how to fix it. It only describes the problem; printing it and choosing
// the exit status (2) belong to the command-line tool.

import RecurKernels

/// A problem with user data or data settings, found before any training work starts.
///
/// `description` reads like a compiler diagnostic:
/// `data/series.csv:12:3: error: column 'SUNACTIVITY' holds 'abc', which is not a number. Fix: …`
public struct DataError: UserInputError, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, for callers and tests that branch on it.
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        case fileNotFound, emptyFile, unreadable, notUTF8, malformedCSV, wrongFieldCount,
             badCell, tooShort, labelOutOfRange, classWithoutExamples, unknownColumn,
             unseenToken, invalidSetting
    }

    /// What went wrong.
    public var kind: Kind
    /// The file the problem is in, when there is one.
    public var file: String?
    /// 1-based line number in `file`.
    public var line: Int?
    /// 1-based column: the field number in a CSV row, the character number in a text line.
    public var column: Int?
    /// 0-based byte offset in `file` (undecodable bytes).
    public var byteOffset: Int?
    /// What is wrong, as one sentence without a final period.
    public var problem: String
    /// How to fix it, as one sentence without a final period.
    public var fix: String

    /// An error; `problem` and `fix` are sentences without a final period.
    public init(_ kind: Kind, file: String? = nil, line: Int? = nil, column: Int? = nil,
                byteOffset: Int? = nil, problem: String, fix: String) {
        self.kind = kind
        self.file = file
        self.line = line
        self.column = column
        self.byteOffset = byteOffset
        self.problem = problem
        self.fix = fix
    }

    public var description: String {
        var place = file ?? "data"
        if let line {
            place += ":\(line)"
            if let column { place += ":\(column)" }
        }
        // Problems quote the user's data: printed safely and capped (quotedForMessage).
        var text = "\(quotedForMessage(place, limit: 400)): error: \(quotedForMessage(problem, limit: 600))"
        if let byteOffset { text += " (byte offset \(byteOffset))" }
        return text + ". Fix: \(quotedForMessage(fix, limit: 600))."
    }
}
