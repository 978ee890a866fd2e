// Measures what loading costs — wall time and peak resident memory — for `recur bench` and for
// the 100 MB target. It only reads and measures; it prints nothing and writes nothing.

#if canImport(Glibc)
import RecurKernels
import RecurFiles
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Time and memory of one load.
public struct LoadMeasurement: Sendable, CustomStringConvertible {
    /// Wall-clock seconds of the load.
    public var seconds: Double
    /// Size of the input file.
    public var inputBytes: Int
    /// Tokens, rows or examples produced.
    public var items: Int
    /// Resident memory of the process before the load.
    public var residentBeforeBytes: Int
    /// Peak resident memory of the process after the load (a high-water mark, so it includes
    /// whatever the process held before).
    public var peakResidentBytes: Int

    /// Peak memory attributable to the load, as a multiple of the input size.
    public var memoryRatio: Double {
        Double(max(0, peakResidentBytes - residentBeforeBytes)) / Double(max(1, inputBytes))
    }

    public var description: String {
        func mb(_ b: Int) -> String {
            b < 1_000_000 ? String(Double(b / 10) / 100) + " kB" : String(Double(b / 10_000) / 100) + " MB"
        }
        return "\(mb(inputBytes)) → \(items) items in \(Double(Int(seconds * 1e6)) / 1e6) s; "
            + "peak RSS \(mb(peakResidentBytes)) (\(mb(residentBeforeBytes)) before, load ≈ \(Double(Int(memoryRatio * 100)) / 100)× input)"
    }

    /// Runs `body` once and measures it; `body` returns (input bytes, items).
    public static func measure(_ body: () throws(DataError) -> (Int, Int)) throws(DataError) -> LoadMeasurement {
        let before = ProcessMemory.resident()
        let start = MonotonicClock.seconds()
        let (bytes, items) = try body()
        let seconds = MonotonicClock.seconds() - start
        return LoadMeasurement(seconds: seconds, inputBytes: bytes, items: items,
                               residentBeforeBytes: before, peakResidentBytes: ProcessMemory.peakResident())
    }
}

extension TextCorpus {
    /// Loads `path` once (reading and encoding) and reports time and memory.
    /// - Throws: whatever `load` throws.
    public static func benchmarkLoad(path: String, options: TextOptions = TextOptions()) throws(DataError) -> LoadMeasurement {
        try LoadMeasurement.measure { () throws(DataError) -> (Int, Int) in
            let corpus = try TextCorpus.load(path: path, options: options)
            return (corpus.byteCount, corpus.tokens.count)
        }
    }
}

extension TimeSeries {
    /// Loads `path` once (parsing, filling, normalising) and reports time and memory.
    /// - Throws: whatever `load` throws.
    public static func benchmarkLoad(path: String, options: SeriesOptions = SeriesOptions()) throws(DataError) -> LoadMeasurement {
        try LoadMeasurement.measure { () throws(DataError) -> (Int, Int) in
            let series = try TimeSeries.load(path: path, options: options)
            var bytes = 0
            if let (fd, size) = try? FileReader.open(path) { closeDescriptor(fd); bytes = size }
            return (bytes, series.rowCount)
        }
    }
}
