// Pictures in a build without Cairo (SIC_CORE_ONLY, or libcairo2-dev missing).
#include "sic/pictures.h"

namespace sic {

bool PicturesAvailable() { return false; }

Result<std::vector<std::string>> DrawArenaPictures(const ArenaReport&, const std::string&) {
  return Status::Error("pictures skipped: this sic was built without Cairo");
}

}  // namespace sic
