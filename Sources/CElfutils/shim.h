/* elfutils (Debian: libdw-dev, libelf-dev) as one module for Swift. */
#include <elfutils/libdwfl.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <gelf.h>
#include <libelf.h>
#include <dwarf.h>
