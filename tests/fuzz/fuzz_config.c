/*
 * fuzz_config.c - the county configuration and rule catalog loaders on
 * arbitrary bytes: refused with a message, never a crash or a leak.
 */
#include <stddef.h>
#include <stdint.h>

#include "kh_catalog.h"
#include "kh_county.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    kh_county_t *c = NULL;
    if (kh_county_load_mem(&c, (const char *)data, size, err, sizeof err) == 0)
        kh_county_free(&c);
    kh_catalog_t *cat = NULL;
    if (kh_catalog_load_mem(&cat, (const char *)data, size, err, sizeof err) == 0)
        kh_catalog_free(&cat);
    return 0;
}
