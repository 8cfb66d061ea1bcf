// PNG pictures of one evaluated arena, the ones a scientist looks at first:
//   ratemaps.png          the top rate maps by grid score, with score, period, module
//   autocorrelograms.png  their autocorrelograms, with the best annulus drawn
//   periods.png           histogram of unit periods, coloured by module
//   distance.png          neural distance from g0 against distance from the start
//   module_power.png      mean Fourier power per module, lattice wavevectors marked
//   phases.png            per module, its unit cell with each unit's phase (sic/phases.h)
// Maps are drawn with y upward (row 0 at the bottom), NaN bins grey.
//
// Drawn with Cairo when the build found it (sic_pictures); otherwise
// PicturesAvailable() is false and DrawArenaPictures returns an error that says
// so, and callers write everything else. No LibTorch.
// Thread-safety: DrawArenaPictures may run concurrently on different reports.
#pragma once

#include <string>
#include <vector>

#include "sic/eval_report.h"
#include "sic/status.h"

namespace sic {

bool PicturesAvailable();

// Writes the PNGs above into `dir` (which must exist); returns their names.
Result<std::vector<std::string>> DrawArenaPictures(const ArenaReport& report, const std::string& dir);

}  // namespace sic
