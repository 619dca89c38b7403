// Preloaded into a gateway process (node --import) to run it on a clock that is off by
// LEASEGATE_TEST_CLOCK_OFFSET_MS, as a badly synchronised host would be.
const offset = Number(process.env.LEASEGATE_TEST_CLOCK_OFFSET_MS ?? 0);
const RealDate = Date;

class SkewedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(RealDate.now() + offset);
    else super(...args);
  }
  static now() {
    return RealDate.now() + offset;
  }
}

globalThis.Date = SkewedDate;
