// Package clock is the source of time for everything in tes that measures it:
// session TTLs, retention, reader-mode windows, expiry dates.
//
// Code takes a Clock rather than calling time.Now, so that tests move time
// forward with Fake and never sleep. It is not a scheduler: nothing here fires
// timers.
package clock
