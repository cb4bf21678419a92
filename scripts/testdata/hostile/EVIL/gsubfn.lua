-- gsub calling Lua for every byte of a 1 MiB string, again and again.
return {
  start = "bad",
  steps = {
    bad = {
      run = function(ctx)
        local s = "x"
        for _ = 1, 20 do s = s .. s end
        while true do s = s:gsub(".", function(c) return c end) end
      end,
      next = { { done = 0 } },
    },
  },
}
