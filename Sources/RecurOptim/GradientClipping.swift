// Gradient clipping over the flat gradient buffer: by global L2 norm (torch.nn.utils.clip_grad_norm_)
// and by value (clip_grad_value_). The norm can come precomputed, as the parallel engine sums
// squares over several ranges; nothing here reduces across threads or ranks, or checks for NaN.

import RecurKernels

/// The factor `clip_grad_norm_` multiplies gradients by: `maxNorm / (totalNorm + 1e-6)` when that
/// is below 1, otherwise 1 (no change). A NaN norm gives 1: the caller's loss guard should stop the run.
/// - Parameters:
///   - totalNorm: L2 norm of all gradients together.
///   - maxNorm: the largest norm allowed, > 0.
/// - Returns: the scale to apply, in (0, 1].
public func globalNormClipScale(totalNorm: Float, maxNorm: Float) -> Float {
    precondition(maxNorm > 0, "globalNormClipScale: maxNorm must be > 0, got \(maxNorm)")
    let scale = maxNorm / (totalNorm + 1e-6)
    return scale < 1 ? scale : 1
}

/// Scales `grads` so their global L2 norm is at most `maxNorm`, as `torch.nn.utils.clip_grad_norm_`.
/// - Parameters:
///   - grads: the flat gradient buffer, scaled in place.
///   - count: number of values.
///   - maxNorm: the largest norm allowed, > 0.
/// - Returns: the total norm before clipping (accumulated in Double, rounded to Float).
@discardableResult
public func clipGradientsByGlobalNorm(_ grads: UnsafeMutablePointer<Float>, count: Int, maxNorm: Float) -> Float {
    clipGradientsByGlobalNorm(grads, count: count, maxNorm: maxNorm,
                              sumOfSquares: Vec.sumOfSquares(grads, count: count))
}

/// `clipGradientsByGlobalNorm` with Σ g² already known, e.g. summed over ranges in parallel with
/// `Vec.sumOfSquares`. For scaling ranges in parallel, use `globalNormClipScale` and `Vec.scale`.
/// - Parameters:
///   - grads: the flat gradient buffer, scaled in place.
///   - count: number of values.
///   - maxNorm: the largest norm allowed, > 0.
///   - sumOfSquares: Σ g² over all `count` values.
/// - Returns: the total norm before clipping, `sqrt(sumOfSquares)`.
@discardableResult
public func clipGradientsByGlobalNorm(_ grads: UnsafeMutablePointer<Float>, count: Int, maxNorm: Float,
                                      sumOfSquares: Double) -> Float {
    let totalNorm = Float(sumOfSquares.squareRoot())
    let scale = globalNormClipScale(totalNorm: totalNorm, maxNorm: maxNorm)
    if scale < 1 { Vec.scale(grads, count: count, by: scale) }
    return totalNorm
}

/// Clamps every gradient to `[-limit, limit]`, as `torch.nn.utils.clip_grad_value_`; NaN stays NaN.
/// - Parameters:
///   - grads: the flat gradient buffer, clamped in place.
///   - count: number of values.
///   - limit: the largest magnitude allowed, > 0.
public func clipGradientsByValue(_ grads: UnsafeMutablePointer<Float>, count: Int, limit: Float) {
    precondition(limit > 0, "clipGradientsByValue: limit must be > 0, got \(limit)")
    let low = -limit
    for i in 0..<count {
        let g = grads[i]
        grads[i] = g > limit ? limit : (g < low ? low : g)
    }
}
