// CBLAS shim: OpenBLAS's CBLAS interface plus its thread-count controls.
// Nothing else lives here; the Swift wrapper is RecurKernels/Gemm.swift.
#pragma once
#include <cblas.h>
