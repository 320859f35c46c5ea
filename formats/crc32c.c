/* CRC-32C (Castagnoli), reflected polynomial 0x82F63B78, as VHDX uses
 * for headers, region tables and log entries ([MS-VHDX] section 2).
 * Slicing-by-8 tables built once; check value of "123456789" is
 * 0xE3069283. */
#include <pthread.h>
#include <stdint.h>

#include "formats/formats.h"

static uint32_t crc32c_table[8][256];
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

static void
crc32c_init (void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;

        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        }
        crc32c_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
        for (int t = 1; t < 8; t++) {
            uint32_t p = crc32c_table[t - 1][i];

            crc32c_table[t][i] = (p >> 8) ^ crc32c_table[0][p & 0xff];
        }
    }
}

uint32_t
fmt_crc32c_update (uint32_t crc, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    uint32_t c = ~crc;

    pthread_once (&crc32c_once, crc32c_init);
    while (n >= 8) {
        uint32_t lo = c ^ ((uint32_t) p[0] | (uint32_t) p[1] << 8 |
                           (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24);
        c = crc32c_table[7][lo & 0xff] ^ crc32c_table[6][(lo >> 8) & 0xff] ^
            crc32c_table[5][(lo >> 16) & 0xff] ^ crc32c_table[4][lo >> 24] ^
            crc32c_table[3][p[4]] ^ crc32c_table[2][p[5]] ^
            crc32c_table[1][p[6]] ^ crc32c_table[0][p[7]];
        p += 8;
        n -= 8;
    }
    while (n--) {
        c = (c >> 8) ^ crc32c_table[0][(c ^ *p++) & 0xff];
    }
    return ~c;
}

uint32_t
fmt_crc32c (const void *buf, size_t n)
{
    return fmt_crc32c_update (0, buf, n);
}
