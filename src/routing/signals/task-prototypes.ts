/**
 * Labelled prototype sentences for the embedding half of the task signal:
 * a handful of typical requests per task type, written by hand to cover
 * different phrasings and domains.
 */
import type { TaskType } from './task.js';

/** Prototype sentences per task type. */
export const TASK_PROTOTYPES: Readonly<Record<TaskType, readonly string[]>> = {
  chat: [
    'Hi there, how are you doing today?',
    'Thanks, that was really helpful!',
    'Good morning! Anything fun planned for the weekend?',
    "I'm feeling a bit bored, let's just talk.",
    'Haha, that is funny. Tell me more about yourself.',
    'What do you think about rainy days?',
  ],
  qa: [
    'What is the capital of Australia?',
    'Who wrote Pride and Prejudice?',
    'When did the Second World War end?',
    'What does the mitochondria do in a cell?',
    'How does a vaccine train the immune system?',
    'Which of the following is a primary color? A. green B. red C. orange D. purple',
    'What is the difference between a virus and a bacterium?',
  ],
  code: [
    'Write a Python function that checks whether a string is a palindrome.',
    'Why does this JavaScript code throw "undefined is not a function"?',
    'Fix the bug in this SQL query that returns duplicate rows.',
    'Refactor this Java class to use dependency injection.',
    'How do I read a file line by line in Rust?',
    'Implement a thread-safe LRU cache in Go with unit tests.',
    'Explain what this regular expression matches: ^[a-z0-9_-]{3,16}$',
  ],
  summarization: [
    'Summarize the following article in three bullet points.',
    'Give me a short summary of this meeting transcript.',
    'TL;DR of the text below, please.',
    'Condense this report into one paragraph for an executive.',
    'What are the key points of this paper?',
  ],
  extraction: [
    'Extract all names, dates and amounts from this invoice.',
    'Pull out every email address mentioned in the text below.',
    'Parse this resume and return the candidate skills as JSON.',
    'List the product names and prices found in this page.',
    'From the following contract, find the termination date and the parties.',
  ],
  translation: [
    'Translate this sentence into French: where is the nearest train station?',
    'How do you say "thank you very much" in Japanese?',
    'Translate the following paragraph from German to English.',
    'What does "carpe diem" mean in English?',
    'Please render this email in Spanish, keeping a formal tone.',
  ],
  creative: [
    'Write a short poem about the sea at night.',
    'Tell me a bedtime story about a brave little dragon.',
    'Write song lyrics about leaving home for the first time.',
    'Come up with ten catchy names for a coffee shop.',
    'Write the opening scene of a science fiction novel.',
    'Compose a funny limerick about a cat who loves lasagna.',
  ],
  reasoning: [
    'Prove that the square root of two is irrational.',
    'A train leaves at 3 pm going 60 mph; another leaves at 4 pm going 80 mph. When does the second catch up?',
    'Solve for x: 3x + 7 = 22, and show each step.',
    'If all bloops are razzies and all razzies are lazzies, are all bloops lazzies? Explain.',
    'Compare the trade-offs of microservices and a monolith for a small startup.',
    'Think step by step: how many ways can 5 people sit around a round table?',
  ],
  agentic: [
    'Use the search tool to find the latest release notes and open a ticket for each breaking change.',
    'You have access to a shell. Clone the repository, run the tests and fix the failures.',
    'Book a meeting with the team next Tuesday using the calendar API, then send the invite.',
    'Browse the website, collect the prices of all laptops and save them to a spreadsheet.',
    'Call the weather function for each city in the list and report which one is warmest.',
  ],
};
