/* tests/fuzz/fuzz.h — what every harness shares. A harness defines
 * LLVMFuzzerTestOneInput (libFuzzer's entry point); it is linked either with
 * libFuzzer (clang -fsanitize=fuzzer, `make fuzz`) or with replay.c, a plain
 * main that feeds it files (the ctest regression tests, any compiler).
 * FUZZ_CHECK states a property the code promises for every input: breaking
 * it aborts, which both drivers report as a crash with the input. */
#ifndef ACCUMBENCH_FUZZ_H
#define ACCUMBENCH_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond, ...)                                                   \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
            abort();                                                            \
        }                                                                       \
    } while (0)

/* data as a NUL-terminated string (malloc'ed; the caller frees), or NULL
 * when it holds a NUL byte: the parsers take C strings */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < size; i++)
        if (!data[i]) return NULL;
    char *s = malloc(size + 1);
    if (!s) abort();
    for (size_t i = 0; i < size; i++) s[i] = (char)data[i];
    s[size] = '\0';
    return s;
}

#endif
