/*
 * fuzz_event_json.c - the JSON Lines parser and the event checks on
 * arbitrary bytes, against the shipped catalog and the example county.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "kh_catalog.h"
#include "kh_county.h"
#include "kh_event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static kh_county_t *g_county;
static kh_catalog_t *g_catalog;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_county) {
        char err[256];
        if (kh_county_load(&g_county, KH_SOURCE_DIR "/tests/data/example/county.json",
                           err, sizeof err) ||
            kh_catalog_load(&g_catalog, KH_SOURCE_DIR "/rules/catalog.json", err,
                            sizeof err))
            abort();
    }
    kh_event_t ev;
    kh_event_init(&ev);
    if (kh_event_parse_json((const char *)data, size, &ev) == 0) {
        kh_event_check(&ev, g_county, g_catalog, NULL, 0);
        kh_event_check(&ev, g_county, g_catalog, "station-NM", 0);
    }
    kh_event_clear(&ev);
    return 0;
}
