/* version.c - see version.h. */
#include "core/version.h"

#ifndef FKE_VERSION
#define FKE_VERSION "0.1.0"
#endif
#ifndef FKE_GIT
#define FKE_GIT "unknown"
#endif

const char *fke_version(void) { return FKE_VERSION " (commit " FKE_GIT ")"; }
