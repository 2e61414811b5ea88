/* Thin wrappers for system calls Swift cannot import directly. */
#ifndef CLEAKSYS_H
#define CLEAKSYS_H
#include <sys/types.h>
#endif
