-- unbounded recursion.
return {
  start = "bad",
  steps = {
    bad = {
      run = function(ctx)
        local function f(n) return f(n + 1) + 1 end
        f(1)
      end,
      next = { { done = 0 } },
    },
  },
}
