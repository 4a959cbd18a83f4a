#include "tracer/export/gzip.hpp"

#include <zlib.h>

namespace ct::tracer::exporting {

std::string gzip_compress(std::string_view raw) {
    z_stream z{};
    // windowBits 15 + 16: the gzip wrapper instead of zlib's.
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        return std::string(raw);
    }
    std::string out;
    out.resize(deflateBound(&z, static_cast<uLong>(raw.size())));
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
    z.avail_in = static_cast<uInt>(raw.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

}  // namespace ct::tracer::exporting
