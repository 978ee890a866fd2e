// The update loops, one per algorithm, transcribing torch.optim's single-tensor code
// (sgd.py, adam.py, rmsprop.py, adagrad.py) operation by operation, one element at a time.
// They do not allocate, branch on the algorithm, or touch anything but the buffers passed in.

// Note [Rounding against PyTorch]
// Scalars (1 - beta1, lr / bias_correction1, …) are computed in Double and rounded to Float where
// PyTorch passes a Python float to a float32 kernel, and each tensor operation keeps PyTorch's
// order of operations. PyTorch's CPU kernels fuse three of them into one FMA (add with alpha,
// lerp, addcmul); these loops do not, because baseline x86-64 has no FMA instruction and a libm
// call per element would cost more than the update. So a value can differ from PyTorch's in its
// last bits (against the fixture: at most 4.8e-7 absolute, 6 ulp; a float32 re-enactment of
// these loops with those three operations fused reproduces torch's bits in every fixture case).

import Foundation

extension Optimizer {
    /// torch's `lerp_(end, weight)`: exact at both ends, two formulas split at weight 0.5.
    @inline(__always)
    static func lerp(_ start: Float, _ end: Float, weight: Float, small: Bool, oneMinusWeight: Float) -> Float {
        small ? start + weight * (end - start) : end - (end - start) * oneMinusWeight
    }

    /// SGD: `g += wd·p; buf = momentum·buf + (1 - dampening)·g (buf = g at the first step);
    /// g = nesterov ? g + momentum·buf : buf; p -= lr·g`.
    static func sgd(_ p: UnsafeMutablePointer<Float>, _ grad: UnsafePointer<Float>,
                    momentumBuffer: UnsafeMutablePointer<Float>?, count: Int, lr: Float,
                    weightDecay: Double, momentum: Double, dampening: Double, nesterov: Bool, firstStep: Bool) {
        let wd = Float(weightDecay), l2 = weightDecay != 0
        let mu = Float(momentum), oneMinusDampening = Float(1 - dampening)
        let negLR = -lr
        guard let buf = momentumBuffer else {
            for i in 0..<count {
                let g = l2 ? grad[i] + wd * p[i] : grad[i]
                p[i] = p[i] + negLR * g
            }
            return
        }
        for i in 0..<count {
            var g = l2 ? grad[i] + wd * p[i] : grad[i]
            let b = firstStep ? g : buf[i] * mu + oneMinusDampening * g
            buf[i] = b
            g = nesterov ? g + mu * b : b
            p[i] = p[i] + negLR * g
        }
    }

    /// Adam / AdamW:
    /// `p *= 1 - lr·wd (AdamW) | g += wd·p (Adam); m = lerp(m, g, 1 - β1); v = β2·v + (1 - β2)·g·g;
    /// v̂ = amsgrad ? max(v̂, v) : v; p += -(lr / (1 - β1^t))·m / (√v̂ / √(1 - β2^t) + eps)`.
    static func adam(_ p: UnsafeMutablePointer<Float>, _ grad: UnsafePointer<Float>,
                     expAvg m: UnsafeMutablePointer<Float>, expAvgSq v: UnsafeMutablePointer<Float>,
                     maxExpAvgSq vMax: UnsafeMutablePointer<Float>?, count: Int, lr: Float, step: Int,
                     beta1: Double, beta2: Double, eps: Double, weightDecay: Double, decoupled: Bool) {
        let t = Double(step)
        let biasCorrection1 = 1 - pow(beta1, t)
        let biasCorrection2 = 1 - pow(beta2, t)
        let negStepSize = Float(-(Double(lr) / biasCorrection1))
        let biasCorrection2Sqrt = Float(pow(biasCorrection2, 0.5))  // Python's `** 0.5`, not sqrt
        let decay = Float(1 - Double(lr) * weightDecay), decoupledDecay = decoupled && weightDecay != 0
        let wd = Float(weightDecay), l2 = !decoupled && weightDecay != 0
        let w1 = Float(1 - beta1), w1Small = abs(w1) < 0.5, oneMinusW1 = 1 - w1
        let b2 = Float(beta2), oneMinusB2 = Float(1 - beta2), epsF = Float(eps)
        for i in 0..<count {
            let param = decoupledDecay ? p[i] * decay : p[i]
            let g = l2 ? grad[i] + wd * param : grad[i]
            let mi = lerp(m[i], g, weight: w1, small: w1Small, oneMinusWeight: oneMinusW1)
            let vi = v[i] * b2 + (oneMinusB2 * g) * g
            m[i] = mi
            v[i] = vi
            var second = vi
            if let vMax {
                second = max(vMax[i], vi)
                vMax[i] = second
            }
            let denom = second.squareRoot() / biasCorrection2Sqrt + epsF
            p[i] = param + (negStepSize * mi) / denom
        }
    }

    /// RMSprop: `g += wd·p; s = α·s + (1 - α)·g·g; centered: ḡ = lerp(ḡ, g, 1 - α), avg = √(s - ḡ·ḡ)
    /// else avg = √s; avg += eps; momentum: buf = μ·buf + g / avg, p -= lr·buf; else p += -lr·g / avg`.
    static func rmsprop(_ p: UnsafeMutablePointer<Float>, _ grad: UnsafePointer<Float>,
                        squareAvg s: UnsafeMutablePointer<Float>, momentumBuffer buf: UnsafeMutablePointer<Float>?,
                        gradAvg: UnsafeMutablePointer<Float>?, count: Int, lr: Float,
                        alpha: Double, eps: Double, weightDecay: Double, momentum: Double) {
        let wd = Float(weightDecay), l2 = weightDecay != 0
        let a = Float(alpha), w = Float(1 - alpha), wSmall = abs(w) < 0.5, oneMinusW = 1 - w
        let epsF = Float(eps), mu = Float(momentum), negLR = -lr
        for i in 0..<count {
            let g = l2 ? grad[i] + wd * p[i] : grad[i]
            let si = s[i] * a + (w * g) * g
            s[i] = si
            var avg: Float
            if let gradAvg {
                let gi = lerp(gradAvg[i], g, weight: w, small: wSmall, oneMinusWeight: oneMinusW)
                gradAvg[i] = gi
                avg = (si + (-1 * gi) * gi).squareRoot()
            } else {
                avg = si.squareRoot()
            }
            avg = avg + epsF
            if let buf {
                let b = buf[i] * mu + g / avg
                buf[i] = b
                p[i] = p[i] + negLR * b
            } else {
                p[i] = p[i] + (negLR * g) / avg
            }
        }
    }

    /// Adagrad: `g += wd·p; clr = lr / (1 + (t - 1)·lr_decay); sum += g·g; p += -clr·g / (√sum + eps)`.
    static func adagrad(_ p: UnsafeMutablePointer<Float>, _ grad: UnsafePointer<Float>,
                        sum: UnsafeMutablePointer<Float>, count: Int, lr: Float, step: Int,
                        lrDecay: Double, eps: Double, weightDecay: Double) {
        let wd = Float(weightDecay), l2 = weightDecay != 0
        let negCLR = Float(-(Double(lr) / (1 + Double(step - 1) * lrDecay)))
        let epsF = Float(eps)
        for i in 0..<count {
            let g = l2 ? grad[i] + wd * p[i] : grad[i]
            let si = sum[i] + g * g
            sum[i] = si
            p[i] = p[i] + (negCLR * g) / (si.squareRoot() + epsF)
        }
    }
}
