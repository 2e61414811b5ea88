// zlib, on every Linux (Debian: zlib1g-dev), for gzipped pprof profiles.
#include <zlib.h>
