// PNG images of the charts (`fabric-exp plot --out curves.png`): the SVG chart drawn by librsvg
// (Debian's librsvg2-dev, the renderer GNOME uses) onto a cairo surface, so the PNG and the SVG
// are one drawing.
#pragma once

#include <string>

namespace fabric::cli {

/// The PNG bytes of `svg` drawn at `scale` times its size. Throws NotSupportedError when this
/// fabric-exp was built without librsvg.
std::string png_from_svg(const std::string& svg, double scale);

}  // namespace fabric::cli
