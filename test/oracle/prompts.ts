/**
 * Prompts for the oracle runs: real English (written for these tests) encoded with GPT-2's own
 * tokenizer from gpt-3-encoder, at the three lengths the comparison asks for (~5, ~40, ~150).
 */
import { encode } from "gpt-3-encoder";

const STORY =
  "The ferry left the harbor a little after six, while the fog still sat low over the water. " +
  "Mara stood at the rail with a paper cup of coffee and watched the town shrink into a row of pale roofs. " +
  "She had made this crossing every summer since she was nine, first with her grandmother and later alone, " +
  "and she still counted the buoys as they slid past. The island had not changed much. There was one store, " +
  "one church with a crooked bell tower, and a road that circled the whole place in less than an hour on a " +
  "bicycle. What had changed was the reason for the trip. Her grandmother had left her the cottage, the boat " +
  "shed, and a wooden box of letters that nobody in the family had ever been allowed to open.";

export interface Prompt {
  name: string;
  ids: number[];
}

export const PROMPTS: readonly Prompt[] = [
  { name: "5 tokens", ids: encode("The ferry left the harbor") },
  { name: "43 tokens", ids: encode(STORY.slice(0, STORY.indexOf(" She had"))) },
  { name: "152 tokens", ids: encode(STORY) },
];
