/* Decompression of VMDK streamOptimized grains (zlib, RFC 1950) and
 * qcow2 compressed clusters (raw deflate, RFC 1951) with zlib.  Pure:
 * buffers in, buffers out. */
#include <errno.h>
#include <string.h>

#include "engine/base/dl-zlib.h"
#include "engine/base/error.h"
#include "formats/formats.h"

int
fmt_inflate (enum fmt_codec codec, const void *in, size_t inlen, void *out,
             size_t outlen, size_t *produced)
{
    z_stream zs;
    int wbits, r;

    switch (codec) {
    case FMT_CODEC_ZLIB: wbits = 15; break;
    case FMT_CODEC_DEFLATE: wbits = -12; break;
    default:
        return set_error (ENOTSUP, "unsupported compression codec %d", codec);
    }
    if (inlen > UINT32_MAX || outlen > UINT32_MAX) {
        return set_error (EINVAL, "compressed grain too large");
    }
    if ((r = vs_dl_zlib ()) < 0) {
        return r;
    }
    memset (&zs, 0, sizeof zs);
    if (inflateInit2 (&zs, wbits) != Z_OK) {
        return set_error (ENOMEM, "cannot initialise zlib");
    }
    zs.next_in = (Bytef *) in;
    zs.avail_in = (uInt) inlen;
    zs.next_out = out;
    zs.avail_out = (uInt) outlen;
    r = inflate (&zs, Z_FINISH);
    inflateEnd (&zs);
    /* A zlib stream (VMDK) must end within the grain, so its Adler-32 is
     * checked; it may be shorter than the grain (the last grain of a disk
     * whose size is not a grain multiple).  A raw deflate cluster (qcow2)
     * has no checksum and may stop where the cluster is full, as qemu
     * accepts. */
    if (r == Z_STREAM_END ||
        (codec == FMT_CODEC_DEFLATE && r == Z_BUF_ERROR && zs.avail_out == 0)) {
        *produced = outlen - zs.avail_out;
        return 0;
    }
    if (zs.avail_out == 0) {
        return set_error (EINVAL, "compressed grain inflates to more than "
                          "%zu bytes", outlen);
    }
    return set_error (EINVAL, "corrupt compressed grain (zlib error %d)", r);
}
