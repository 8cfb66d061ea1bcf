// CSV cells a spreadsheet opens as data (common/csv.h) and the export that
// uses them (common/export.cc): formulas in text cells are neutralised,
// numbers (negative ones too) stay numbers.
#include <gtest/gtest.h>

#include "common/csv.h"
#include "common/export.h"

namespace sic {
namespace {

TEST(CsvTest, TextThatLooksLikeAFormulaIsNeutralisedAndQuoted) {
  EXPECT_EQ(CsvText("=1+1"), "\"'=1+1\"");
  EXPECT_EQ(CsvText("+cmd|' /C calc'!A0"), "\"'+cmd|' /C calc'!A0\"");
  EXPECT_EQ(CsvText("-2+3"), "\"'-2+3\"");
  EXPECT_EQ(CsvText("@SUM(A1)"), "\"'@SUM(A1)\"");
  EXPECT_EQ(CsvText("\t=1"), "\"'\t=1\"");
  EXPECT_EQ(CsvText("\r=1"), "\"'\r=1\"");
  EXPECT_EQ(CsvText("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
}

TEST(CsvTest, PlainTextIsAsItIsAndSeparatorsAreQuoted) {
  EXPECT_EQ(CsvText("baseline/seed=0"), "baseline/seed=0");
  EXPECT_EQ(CsvText(""), "");
  EXPECT_EQ(CsvText("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvText("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvText("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(CsvText("carriage\rreturn"), "\"carriage\rreturn\"");
}

TEST(CsvTest, NumbersStayNumbersEvenNegative) {
  for (const char* n : {"0", "-1", "+2", "-0.25", "1e-05", "-1.5E+3", "3.", ".5"}) {
    EXPECT_EQ(CsvNumber(n), n) << n;
  }
  // Not wholly a number: text, neutralised where it starts like a formula.
  EXPECT_EQ(CsvNumber("-1+cmd"), "\"'-1+cmd\"");
  EXPECT_EQ(CsvNumber("-"), "\"'-\"");
  EXPECT_EQ(CsvNumber("1e"), "1e");
  EXPECT_EQ(CsvNumber("30/30"), "30/30");
  EXPECT_EQ(CsvNumber("-inf"), "\"'-inf\"");
  EXPECT_EQ(CsvNumber("0x10"), "0x10");
}

TEST(CsvTest, ExportNeutralisesTextCellsAndKeepsNegativeNumbers) {
  ExportRow row;
  row.trial.id = 7;
  row.trial.index = 0;
  row.trial.name = "=cmd|' /C calc'!A0";
  row.trial.variant = "@evil";
  row.trial.status = "failed";
  row.trial.worker = "+w";
  row.trial.error = "-boom,\r\nbad";
  row.trial.overrides = {{"loss.lambda_cap", -0.5}, {"note", "=2*3"}};
  row.metrics = {{"loss.total", -1.25}};
  auto csv = FormatExport({row}, "csv");
  ASSERT_TRUE(csv.ok()) << csv.status().message();
  const std::string& text = csv.value();
  const std::string body = text.substr(text.find('\n') + 1);
  EXPECT_EQ(body,
            "7,0,\"'=cmd|' /C calc'!A0\",\"'@evil\",failed,1,0,\"'+w\",\"'-boom,\r\nbad\","
            "-0.5,\"'=2*3\",-1.25,0,0\n");
  EXPECT_EQ(text.substr(0, text.find('\n')),
            "trial_id,index,name,variant,status,round,attempts,worker,error,loss.lambda_cap,note,loss.total,"
            "started_at,finished_at");
}

}  // namespace
}  // namespace sic
