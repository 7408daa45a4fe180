import { describe, expect, it } from "vitest";
import { cleanLine, cleanText } from "../src/lib/text";

describe("cleanText", () => {
  it("keeps tabs, line breaks and every script, and trims", () => {
    expect(cleanText("  first\n\tsecond\r\n\u05e9\u05dc\u05d5\u05dd \u{1F600} \u202Ex  ")).toBe(
      "first\n\tsecond\r\n\u05e9\u05dc\u05d5\u05dd \u{1F600} \u202Ex",
    );
  });
  it("drops the control characters the API refuses", () => {
    expect(cleanText("a\u000Cb\u001B[31mc\u0007d\u007Fe\u0085f\u009Bg\u0000")).toBe("ab[31mcdefg");
  });
  it("leaves nothing of a blank text", () => {
    expect(cleanText(" \n\t\u00A0\u3000\uFEFF")).toBe("");
  });
});

describe("cleanLine", () => {
  it("makes one line of a name or a title", () => {
    expect(cleanLine(" Ada\nLovelace\t\r\n(1815) ")).toBe("Ada Lovelace (1815)");
  });
  it("drops direction overrides and isolates, which make a name read as another", () => {
    expect(cleanLine("Bob\u202Eetihw")).toBe("Bobetihw");
    expect(cleanLine("a\u202Ab\u202Cc\u2066d\u2069")).toBe("abcd");
  });
  it("keeps names in any script", () => {
    expect(cleanLine("Zo\u00EB \u05e9\u05dc\u05d5\u05dd \u{1F600}")).toBe("Zo\u00EB \u05e9\u05dc\u05d5\u05dd \u{1F600}");
  });
  it("leaves nothing of a blank name", () => {
    expect(cleanLine("\u00A0 \u2029 ")).toBe("");
  });
});
