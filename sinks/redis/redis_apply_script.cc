#include "redis_apply_script.h"

namespace omni::sinks::redis {

// Notes for whoever edits this:
// - Lua numbers are doubles: seqs compare as numbers (exact below 2^53) but are
//   always written back as the caller's decimal text, never tostring(number).
// - unpack() is bounded by the Lua C stack (~8000): fields go to HSET 1,000 pairs
//   at a time.
// - Pass 2 uses redis.call (an error aborts the script); pass 1 made sure that the
//   only errors left are those Redis raises before the first write (OOM).
// - Expiries are judged by Redis's clock (TIME), the clock PXAT is judged by.
const std::string_view kApplyScript = R"lua(
local wkey, through, reseed, akey, expect = ARGV[1], ARGV[2], ARGV[3] == '1', ARGV[4], ARGV[5]
local first, last = 6, #ARGV

local function fail(i, msg) return redis.error_reply('OMNI ' .. i .. ' ' .. msg) end

-- pass 1 -------------------------------------------------------------------
local types = {}
local function clash(k, want)
  local have = types[k]
  if have == nil then
    have = redis.call('TYPE', k).ok
    types[k] = have
  end
  if have == 'none' or have == want then return nil end
  return 'WRONGTYPE ' .. k .. ' holds a ' .. have .. ', not a ' .. want
end

local docseq = {}  -- document key -> stored _seq (-1: none), kept current in pass 2
local function prefetch(k)
  if docseq[k] ~= nil then return nil end
  local r = redis.pcall('HGET', k, '_seq')
  if type(r) == 'table' then return r.err .. ' (' .. k .. ')' end
  docseq[k] = tonumber(r) or -1
  return nil
end

local wm, wtext = -1, false
if wkey ~= '' then
  local e = clash(wkey, 'string')
  if e then return fail(0, e) end
  wtext = redis.call('GET', wkey)
  wm = tonumber(wtext or '') or -1
  -- Not where the caller left it (wiped, or lost writes): nothing is applied.
  if expect ~= '' and (wtext or '-') ~= expect then
    return redis.error_reply('OMNIWM ' .. (wtext or '-'))
  end
end
if akey ~= '' then
  local e = clash(akey, 'hash')
  if e then return fail(0, e) end
end

local i, c = first, 0
while i <= last do
  c = c + 1
  local op, e = ARGV[i], nil
  if op == 'S' then
    e = prefetch(ARGV[i + 2])
    i = i + 5 + tonumber(ARGV[i + 4])
  elseif op == 'D' then
    e = prefetch(ARGV[i + 2]) or clash(ARGV[i + 4], 'set')
    i = i + 5
  elseif op == 'A' or op == 'R' then
    e = clash(ARGV[i + 2], 'zset') or clash(ARGV[i + 3], 'zset') or clash(ARGV[i + 7], 'set')
    if not e and ARGV[i + 8] ~= '' then e = clash(ARGV[i + 8], 'set') end
    i = i + 9
  elseif op == 'V' then
    e = clash(ARGV[i + 2], 'zset') or clash(ARGV[i + 4], 'string')
    i = i + 8
  elseif op == 'P' then
    e = clash(ARGV[i + 2], 'zset')
    local n = tonumber(ARGV[i + 4])
    for j = i + 6, i + 4 + n, 2 do e = e or clash(ARGV[j], 'string') end
    i = i + 5 + n
  elseif op == 'C' then
    e = clash(ARGV[i + 2], 'string')
    local n = tonumber(ARGV[i + 6])
    for j = i + 7, i + 6 + n do e = e or clash(ARGV[j], 'set') end
    i = i + 7 + n
  else
    return fail(c, 'ERR unknown change kind ' .. tostring(op))
  end
  if e then return fail(c, e) end
end

-- pass 2 -------------------------------------------------------------------
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local applied = 0
local function count(k)
  applied = applied + 1
  if akey ~= '' then redis.call('HINCRBY', akey, k, 1) end
end
local function fresh(seq) return reseed or seq > wm end

-- sorted-set members' scores, kept current in pass 2 (a removal is remembered with
-- its seq, so an older add later in the batch is still refused)
local zseq, zlive = {}, {}
local function zscore(k, m)
  local s = zseq[k]
  if s == nil then
    s = {}
    zseq[k], zlive[k] = s, {}
  end
  if s[m] == nil then
    local r = redis.call('ZSCORE', k, m)
    s[m], zlive[k][m] = tonumber(r) or -1, r ~= false
  end
  return s[m], zlive[k][m]
end
local function zput(k, m, seq, live) zseq[k][m], zlive[k][m] = seq, live end

local function hset(k, s, from, to)
  local stop = math.min(to, from + 1999)
  redis.call('HSET', k, '_seq', s, unpack(ARGV, from, stop))
  from = stop + 1
  while from <= to do
    stop = math.min(to, from + 1999)
    redis.call('HSET', k, unpack(ARGV, from, stop))
    from = stop + 1
  end
end

local function invalidate(by)
  local ds = redis.call('SMEMBERS', by)
  if #ds > 0 then
    for _, d in ipairs(ds) do redis.call('DEL', d) end
    redis.call('DEL', by)
  end
end

i = first
while i <= last do
  local op, s = ARGV[i], ARGV[i + 1]
  local seq = tonumber(s)
  if op == 'S' then
    local k, n = ARGV[i + 2], tonumber(ARGV[i + 4])
    if fresh(seq) and seq > docseq[k] then
      redis.call('DEL', k)
      hset(k, s, i + 5, i + 4 + n)
      docseq[k] = seq
      count(ARGV[i + 3])
    end
    i = i + 5 + n
  elseif op == 'D' then
    local k = ARGV[i + 2]
    if fresh(seq) and seq > docseq[k] then
      redis.call('DEL', k)
      redis.call('HSET', k, '_seq', s, '_deleted', '1')
      docseq[k] = seq
      invalidate(ARGV[i + 4])
      count(ARGV[i + 3])
    end
    i = i + 5
  elseif op == 'A' or op == 'R' then
    local rel, rrev, obj, subj = ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
    if fresh(seq) and seq > zscore(rel, obj) then
      if op == 'A' then
        redis.call('ZADD', rel, s, obj)
        redis.call('ZADD', rrev, s, subj)
      else
        redis.call('ZREM', rel, obj)
        redis.call('ZREM', rrev, subj)
      end
      zput(rel, obj, seq, op == 'A')
      invalidate(ARGV[i + 7])
      if ARGV[i + 8] ~= '' then invalidate(ARGV[i + 8]) end
      count(ARGV[i + 6])
    end
    i = i + 9
  elseif op == 'V' then
    local ver, label, doc, at = ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 6]
    if fresh(seq) and seq > zscore(ver, label) then
      redis.call('ZADD', ver, s, label)
      if at == '' then
        redis.call('SET', doc, ARGV[i + 5])
      elseif tonumber(at) > now then
        redis.call('SET', doc, ARGV[i + 5], 'PXAT', at)
      else
        redis.call('DEL', doc)  -- expired already: the label stays, as after expiry
      end
      zput(ver, label, seq, true)
      count(ARGV[i + 7])
    end
    i = i + 8
  elseif op == 'P' then
    local ver, n, any = ARGV[i + 2], tonumber(ARGV[i + 4]), false
    if fresh(seq) then
      for j = i + 5, i + 4 + n, 2 do
        local cur, live = zscore(ver, ARGV[j])
        if live and seq > cur then
          redis.call('ZREM', ver, ARGV[j])
          redis.call('DEL', ARGV[j + 1])
          zput(ver, ARGV[j], seq, false)
          any = true
        end
      end
    end
    if any then count(ARGV[i + 3]) end
    i = i + 5 + n
  elseif op == 'C' then
    local k, v, at, n = ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], tonumber(ARGV[i + 6])
    if fresh(seq) then
      local exp = tonumber(at)
      if exp <= now then
        -- expired already: it still replaces an older decision
        if redis.call('DEL', k) == 1 then count(ARGV[i + 5]) end
      elseif redis.call('GET', k) ~= v or redis.call('PEXPIRETIME', k) ~= exp then
        redis.call('SET', k, v, 'PXAT', at)
        for j = i + 7, i + 6 + n do
          redis.call('SADD', ARGV[j], k)
          -- the set lives as long as its longest-lived decision
          if redis.call('PEXPIRETIME', ARGV[j]) < exp then redis.call('PEXPIREAT', ARGV[j], at) end
        end
        count(ARGV[i + 5])
      end
    end
    i = i + 7 + n
  end
end

if wkey ~= '' and through ~= '' and (reseed or tonumber(through) > wm) then
  redis.call('SET', wkey, through)
  wtext = through
end
return {applied, wtext or ''}
)lua";

}  // namespace omni::sinks::redis
