/* The protocol is header-only; SwiftPM needs one source file per C target. */
#include "swiftleak_protocol.h"
