/* version.h - which fke this is: the version and the git commit the library
 * was built from ("0.1.0 (commit 1a2b3c4)", "-dirty" when the tree had
 * uncommitted changes). The Makefile passes both when it compiles
 * version.c; `fke --version` prints it, and checkpoints, ONNX models and
 * model cards record it. */
#ifndef FKE_VERSION_H
#define FKE_VERSION_H
const char *fke_version(void);
#endif
