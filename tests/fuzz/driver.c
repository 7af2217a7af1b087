/*
 * Replays a fuzz target without libFuzzer: every file of a corpus directory, then a
 * fixed number of deterministic mutations of them (byte flips, truncations, inserted
 * bytes, splices). It proves each target survives its corpus in every ordinary and
 * sanitizer build; the coverage-guided search runs with -DMLOPS_FUZZ=ON.
 *
 * usage: fuzz_<name> CORPUS_DIR [ITERATIONS]
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct input {
    uint8_t *data;
    size_t size;
} input;

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int load(const char *dir, input **out, size_t *count)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "fuzz driver: cannot open corpus '%s'\n", dir);
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
        size_t got = n > 0 ? fread(buf, 1, (size_t)n, f) : 0;
        fclose(f);
        *out = realloc(*out, (*count + 1) * sizeof **out);
        (*out)[*count] = (input){buf, got};
        (*count)++;
    }
    closedir(d);
    return 0;
}

static void mutate_and_run(const input *in, size_t count)
{
    const input *a = &in[rng() % count];
    const input *b = &in[rng() % count];
    size_t cap = a->size + b->size + 16;
    uint8_t *buf = malloc(cap);
    size_t n = a->size;
    memcpy(buf, a->data, n);
    int rounds = 1 + (int)(rng() % 4);
    for (int r = 0; r < rounds; r++) {
        switch (rng() % 5) {
        case 0: /* flip a byte */
            if (n)
                buf[rng() % n] ^= (uint8_t)(1u << (rng() % 8));
            break;
        case 1: /* truncate */
            if (n)
                n = rng() % n;
            break;
        case 2: /* insert an interesting byte */
            if (n + 1 < cap) {
                static const uint8_t special[] = {0, '"', '{', '}', '[', ']', '\\', 0xff, 0x80, '\n'};
                size_t at = n ? rng() % n : 0;
                memmove(buf + at + 1, buf + at, n - at);
                buf[at] = special[rng() % sizeof special];
                n++;
            }
            break;
        case 3: /* splice in the tail of another input */
            if (b->size && n < cap) {
                size_t from = rng() % b->size;
                size_t take = b->size - from;
                if (n + take > cap)
                    take = cap - n;
                memcpy(buf + n, b->data + from, take);
                n += take;
            }
            break;
        default: /* overwrite a byte with a random one */
            if (n)
                buf[rng() % n] = (uint8_t)rng();
            break;
        }
    }
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR [ITERATIONS]\n", argv[0]);
        return 2;
    }
    long iterations = argc > 2 ? strtol(argv[2], NULL, 10) : 2000;
    input *in = NULL;
    size_t count = 0;
    if (load(argv[1], &in, &count) != 0 || count == 0) {
        fprintf(stderr, "fuzz driver: corpus '%s' is empty\n", argv[1]);
        return 1;
    }
    for (size_t i = 0; i < count; i++)
        LLVMFuzzerTestOneInput(in[i].data, in[i].size);
    for (long i = 0; i < iterations; i++)
        mutate_and_run(in, count);
    printf("fuzz driver: %zu corpus inputs and %ld mutations ran clean\n", count, iterations);
    for (size_t i = 0; i < count; i++)
        free(in[i].data);
    free(in);
    return 0;
}
