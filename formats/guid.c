/* Microsoft-style GUIDs: data1 (LE32), data2 (LE16), data3 (LE16), then
 * data4's 8 bytes as written ([MS-VHDX] section 2, GUID). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine/base/endian.h"
#include "engine/base/error.h"
#include "engine/base/hex.h"
#include "formats/formats.h"

int
fmt_guid_parse (const char *s, uint8_t out[16])
{
    uint8_t be[16];     /* the 32 hex digits in text order */
    size_t k = 0;

    if (s[0] == '{') {
        s++;
    }
    for (size_t i = 0; s[i] && k < 32; i++) {
        int h;

        if ((i == 8 || i == 13 || i == 18 || i == 23)) {
            if (s[i] != '-') {
                return set_error (EINVAL, "malformed GUID '%s'", s);
            }
            continue;
        }
        h = vs_hex_digit (s[i]);
        if (h < 0) {
            return set_error (EINVAL, "malformed GUID '%s'", s);
        }
        if (k % 2 == 0) {
            be[k / 2] = (uint8_t) (h << 4);
        } else {
            be[k / 2] |= (uint8_t) h;
        }
        k++;
    }
    if (k != 32 || (s[36] != '\0' && !(s[36] == '}' && s[37] == '\0'))) {
        return set_error (EINVAL, "malformed GUID '%s'", s);
    }
    put_le32 (out, get_be32 (be));
    put_le16 (out + 4, get_be16 (be + 4));
    put_le16 (out + 6, get_be16 (be + 6));
    memcpy (out + 8, be + 8, 8);
    return 0;
}

void
fmt_guid_format (const uint8_t g[16], char out[37])
{
    snprintf (out, 37,
              "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X",
              get_le32 (g), get_le16 (g + 4), get_le16 (g + 6), g[8], g[9],
              g[10], g[11], g[12], g[13], g[14], g[15]);
}
