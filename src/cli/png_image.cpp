#include "cli/png_image.hpp"

#include <cmath>
#include <memory>

#include "common/error.hpp"

#if FABRIC_WITH_PNG
#include <cairo.h>
#include <librsvg/rsvg.h>
#endif

namespace fabric::cli {

#if FABRIC_WITH_PNG

namespace {

template <typename T, void (*Free)(T*)>
struct Freed {
  void operator()(T* p) const { Free(p); }
};
template <typename T, void (*Free)(T*)>
using Owned = std::unique_ptr<T, Freed<T, Free>>;

void unref_handle(RsvgHandle* h) {
  g_object_unref(h);
}

[[noreturn]] void fail(const std::string& what, GError* error) {
  const std::string why = error ? error->message : "unknown error";
  if (error) g_error_free(error);
  throw ValueError("drawing the PNG: " + what + ": " + why);
}

void check(cairo_status_t status, const std::string& what) {
  if (status != CAIRO_STATUS_SUCCESS)
    throw ValueError("drawing the PNG: " + what + ": " + cairo_status_to_string(status));
}

}  // namespace

std::string png_from_svg(const std::string& svg, double scale) {
  GError* error = nullptr;
  Owned<RsvgHandle, unref_handle> handle(rsvg_handle_new_from_data(
      reinterpret_cast<const guint8*>(svg.data()), gsize(svg.size()), &error));
  if (!handle) fail("reading the chart", error);
  gdouble width = 0, height = 0;
  if (!rsvg_handle_get_intrinsic_size_in_pixels(handle.get(), &width, &height))
    throw ValueError("drawing the PNG: the chart has no size in pixels");

  Owned<cairo_surface_t, cairo_surface_destroy> surface(cairo_image_surface_create(
      CAIRO_FORMAT_ARGB32, int(std::ceil(width * scale)), int(std::ceil(height * scale))));
  check(cairo_surface_status(surface.get()), "creating the image");
  Owned<cairo_t, cairo_destroy> cr(cairo_create(surface.get()));
  check(cairo_status(cr.get()), "creating the context");
  cairo_scale(cr.get(), scale, scale);
  const RsvgRectangle viewport{0, 0, width, height};
  if (!rsvg_handle_render_document(handle.get(), cr.get(), &viewport, &error))
    fail("rendering the chart", error);

  std::string png;
  check(cairo_surface_write_to_png_stream(
            surface.get(),
            [](void* closure, const unsigned char* data, unsigned int length) {
              static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data),
                                                         length);
              return CAIRO_STATUS_SUCCESS;
            },
            &png),
        "encoding the PNG");
  return png;
}

#else

std::string png_from_svg(const std::string&, double) {
  throw NotSupportedError(
      "PNG images are not supported by this build of fabric-exp: it was built without librsvg "
      "(apt-get install librsvg2-dev, then rebuild); --out curves.svg works");
}

#endif

}  // namespace fabric::cli
