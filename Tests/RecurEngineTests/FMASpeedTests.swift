// The FMA peak's reading of the core (Note [FMA peak]): which width its FMA units execute at,
// from the measured AVX-512 and AVX2 peaks, and so the clock `recur bench` quotes.

import RecurEngine
import RecurKernels
import XCTest

final class FMASpeedTests: XCTestCase {
    /// Figures measured on this project's machines: Intel Xeon (AVX-512 178.8, AVX2 95.8 GFLOP/s
    /// per core: two 512-bit units at a lower AVX-512 clock) and AMD EPYC Zen 4 (112.6 and 114.2:
    /// a 512-bit FMA runs as two 256-bit halves). Quoting Zen 4 at 512-bit units gave 1.76 GHz.
    func testUnitWidth_FromTheTwoPeaks() {
        XCTAssertEqual(FMASpeed.unitBits(.avx512, peak: 178.8, avx2Peak: 95.8), 512)
        XCTAssertEqual(FMASpeed.unitBits(.avx512, peak: 112.6, avx2Peak: 114.2), 256)
        XCTAssertEqual(FMASpeed.unitBits(.avx2, peak: 114.2, avx2Peak: nil), 256)
        XCTAssertNil(FMASpeed.unitBits(.baseline, peak: 31.1, avx2Peak: nil))
        XCTAssertEqual(112.6 / FMASpeed.flopsPerCycle(unitBits: 256), 3.52, accuracy: 0.01)
        XCTAssertEqual(178.8 / FMASpeed.flopsPerCycle(unitBits: 512), 2.79, accuracy: 0.01)
    }
}
