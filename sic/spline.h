// Cubic B-spline interpolation of 2-D images, reproducing what
// scipy.ndimage.rotate / affine_transform do with order=3, mode='constant',
// cval=0 (SciPy >= 1.6): the image is prefiltered into spline coefficients with
// mirror boundaries, a sample inside [0, rows-1] x [0, cols-1] interpolates those
// coefficients (mirrored at the edges), and a sample outside is 0. The grid
// score rotates autocorrelograms this way (sic-method 5.2 step 3).
//
// Thread-safety: the functions keep no state.
#pragma once

#include <cstdint>
#include <vector>

namespace sic {

// Spline coefficients of a [rows, cols] row-major image, padded by kSplinePad
// mirrored coefficients on every side so that sampling never branches:
// coefficient (i, j) of the image is at (i + kSplinePad, j + kSplinePad) of a
// [rows + 2 kSplinePad, cols + 2 kSplinePad] array.
constexpr int64_t kSplinePad = 2;
std::vector<double> CubicSplineCoefficients(const double* image, int64_t rows, int64_t cols);

// One sample at (y, x) in pixel units (row, column); 0 outside the image.
double SampleCubicSpline(const std::vector<double>& coefficients, int64_t rows, int64_t cols, double y,
                         double x);

// The four cubic B-spline weights for a sample at fractional offset t in [0, 1)
// from the second of four consecutive knots.
void CubicSplineWeights(double t, double weights[4]);

// scipy.ndimage.rotate(image, degrees, reshape=False) for a square image:
// rotation about the centre ((size-1)/2, (size-1)/2), zero fill.
std::vector<double> RotateLikeScipy(const double* image, int64_t size, double degrees);

// Cosine and sine of an angle in degrees: SciPy's cosdg/sindg values for the
// grid-score angles (0, 30, 45, 60, 90, 120, 135, 150, 180), std::cos/sin otherwise.
void CosSinDegrees(double degrees, double* c, double* s);

}  // namespace sic
