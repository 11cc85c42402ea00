// The Lua script every change goes through (EVALSHA sha 0 ARGV...).
//
// ARGV[1] watermark key, or "" (store_data/delete_data: neither checked nor set)
// ARGV[2] the watermark to set at the end, or "" (leave it)
// ARGV[3] "1": out of log order (a reseed, a dead letter retried): the watermark
//         does not filter, and ARGV[2] is set as it is (else only if higher)
// ARGV[4] the applies counter hash (RedisOptions::count_applies), or ""
// ARGV[5] the watermark expected now ("-": none), or "" (no check): when it is
//         not, the script writes nothing and fails with "OMNIWM <watermark or ->"
// ARGV[6..] the changes, one record each; the first argument names its kind and
// the second is its seq (decimal, < 2^53); <akey> is the change's key (the field
// counted in the applies hash), <by> a policyby set:
//   S seq doc akey n f1 v1 ... (n = 2 x fields)  store: replace the hash, _seq = seq
//   D seq doc akey by                             delete: tombstone; drop by's decisions
//   A|R seq rel rrev object subject akey by1 by2  relationship added / removed (by2 ""
//                                                 when the object is the subject)
//   V seq ver label verdoc json pxat akey         version stored; pxat "" = no expiry
//   P seq ver akey n l1 verdoc1 ... (n = 2 x labels)  versions pruned
//   C seq policy value pxat akey n by1 ...        policy decided (n = number of by)
// Order of work: the watermark check; pass 1 checks that every key to be written
// is absent or of the type we write (else: error "OMNI <i> WRONGTYPE ...", i = the
// failing record, 1-based, 0 for ARGV[1] or ARGV[4]; nothing written). Pass 2
// applies each record whose seq is newer than its item's stored seq (and, unless
// ARGV[3], than the watermark), in order. Returns {changes applied, the watermark
// now ("" for none)}.
#pragma once

#include <string_view>

namespace omni::sinks::redis {

extern const std::string_view kApplyScript;

}  // namespace omni::sinks::redis
