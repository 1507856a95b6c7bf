/* gc_text.c - gradient checks of the text operations (filled in with them). */
#include "gradcheck.h"

const fke_gc_case fke_gc_text_cases[] = {{0, 0}};
